package com.acme.shipping;

public record Address(String street, String zip) {}
