package com.acme.shipping;

/** Rates are looked up through a proxy (as a DI container or an RPC client hands them out). */
public interface Rates {
    int rate(int weight);
}
