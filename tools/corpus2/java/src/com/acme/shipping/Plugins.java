package com.acme.shipping;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/** Runs handler methods by name, reflectively (as a framework dispatches to controllers). */
public class Plugins {
    public static class Customs {
        public int dutyPercent(Integer value, Integer items) {
            return value / items;
        }
    }

    public static Object call(Object target, String name, Object... args) {
        try {
            for (Method m : target.getClass().getMethods()) {
                if (m.getName().equals(name)) {
                    return m.invoke(target, args);
                }
            }
            throw new IllegalArgumentException("no method " + name);
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("handler " + name + " failed", e.getCause());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
