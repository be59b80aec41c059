package com.acme.shipping;

public record Order(String id, Address address, int weight) {}
