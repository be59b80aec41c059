package com.acme.shipping;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Proxy;
import java.util.List;

/** Runs one bug per argument and prints each exception as the OpenTelemetry Java agent records
 * it: type (Class.getName()), message, printStackTrace(). */
public class Main {
    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\t': b.append("\\t"); break;
                case '\r': b.append("\\r"); break;
                default: if (c < 0x20) b.append(String.format("\\u%04x", (int) c)); else b.append(c);
            }
        }
        return b.append('"').toString();
    }

    static void record(String bug, Throwable t) {
        StringWriter sw = new StringWriter();
        t.printStackTrace(new PrintWriter(sw));
        String msg = t.getMessage() == null ? "" : t.getMessage();
        System.out.println("{\"bug\": " + json(bug) + ", \"exception_type\": " + json(t.getClass().getName())
            + ", \"message\": " + json(msg) + ", \"stacktrace\": " + json(sw.toString()) + "}");
    }

    static Rates rates(int warm) {
        // Earlier proxies (other beans) decide this one's class number.
        for (int i = 0; i < warm; i++) {
            Proxy.newProxyInstance(Main.class.getClassLoader(), new Class<?>[] {Runnable.class}, (p, m, a) -> null);
        }
        RateTable table = new RateTable();
        return (Rates) Proxy.newProxyInstance(Main.class.getClassLoader(), new Class<?>[] {Rates.class},
            (p, m, a) -> m.invoke(table, a));
    }

    static void run(String bug, String arg) throws Exception {
        switch (bug) {
            case "j-zip":
                new Labels().zipCodes(List.of(new Order("o1", new Address("Main St", "10115"), 3),
                    new Order("o2", new Address(arg, null), 5)));
                break;
            case "j-rate": {
                String[] p = arg.split(":");
                rates(Integer.parseInt(p[0])).rate(Integer.parseInt(p[1]));
                break;
            }
            case "j-duty": {
                // Warm calls first: after 15 reflective calls the JVM generates an accessor class.
                Plugins.Customs c = new Plugins.Customs();
                int warm = Integer.parseInt(arg);
                for (int i = 0; i < warm; i++) Plugins.call(c, "dutyPercent", 100, 4);
                Plugins.call(c, "dutyPercent", 100, 0);
                break;
            }
            case "j-reserve":
                new Warehouse().reserveAll("sku-42", arg);
                break;
            case "j-zones":
                Zones.count(Zones.nested(Integer.parseInt(arg)), 0);
                break;
            default:
                throw new IllegalArgumentException(bug);
        }
    }

    public static void main(String[] args) {
        for (String a : args) {
            String[] kv = a.split("=", 2);
            try {
                run(kv[0], kv.length > 1 ? kv[1] : "");
            } catch (Throwable t) {
                record(kv[0], t);
            }
        }
    }
}
