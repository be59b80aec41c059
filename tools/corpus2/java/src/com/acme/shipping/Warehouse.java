package com.acme.shipping;

import java.io.IOException;
import java.util.concurrent.TimeoutException;

public class Warehouse {
    static void reserve(String sku, String failure) throws Exception {
        switch (failure) {
            case "io": throw new IOException("connection reset by warehouse-db");
            case "timeout": throw new TimeoutException("warehouse-db did not answer in 2000 ms");
            default: throw new IllegalStateException("warehouse-db is read-only");
        }
    }

    public void reserveAll(String sku, String failure) {
        try {
            reserve(sku, failure);
        } catch (Exception e) {
            throw new ServiceException("cannot reserve " + sku, e);
        }
    }
}
