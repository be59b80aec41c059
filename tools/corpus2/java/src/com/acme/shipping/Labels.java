package com.acme.shipping;

import java.util.List;
import java.util.stream.Collectors;

public class Labels {
    // EXTRA_LAMBDA

    public List<String> zipCodes(List<Order> orders) {
        return orders.stream().map(o -> o.address().zip().trim()).collect(Collectors.toList());
    }
}
