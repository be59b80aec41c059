package com.acme.shipping;

/** What the service layer throws when a backend call fails. */
public class ServiceException extends RuntimeException {
    public ServiceException(String message, Throwable cause) {
        super(message, cause);
    }
}
