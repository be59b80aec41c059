package com.acme.shipping;

import java.util.List;

public class Zones {
    public record Zone(String name, List<Zone> children) {}

    public static Zone nested(int depth) {
        Zone z = new Zone(null, List.of());
        for (int i = 0; i < depth; i++) z = new Zone("z" + i, List.of(z));
        return z;
    }

    public static int count(Zone z, int depth) {
        if (z.name() == null) throw new IllegalArgumentException("zone without name at depth " + depth);
        int n = 1;
        for (Zone c : z.children()) n += count(c, depth + 1);
        return n;
    }
}
