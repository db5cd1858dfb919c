package fr.demarches.keycloak;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Events per key (a client address, or one key for the whole node) within the last
 * {@code windowMillis}, in memory. Each Keycloak node counts its own: behind a proxy that
 * spreads clients over n nodes, a limit of L lets through up to n × L (said in
 * docs/security.md). The number of keys is bounded: the oldest keys go first.
 */
final class SlidingWindow {

    private final long windowMillis;
    private final int maxKeys;
    private final Map<String, Deque<Long>> events = new LinkedHashMap<>();

    SlidingWindow(long windowMillis, int maxKeys) {
        this.windowMillis = windowMillis;
        this.maxKeys = maxKeys;
    }

    /** Events of {@code key} still in the window at {@code now}. */
    synchronized int count(String key, long now) {
        Deque<Long> times = events.get(key);
        if (times == null) {
            return 0;
        }
        forgetOld(times, now);
        if (times.isEmpty()) {
            events.remove(key);
            return 0;
        }
        return times.size();
    }

    /** Count one more event of {@code key} at {@code now}. */
    synchronized void add(String key, long now) {
        Deque<Long> times = events.remove(key); // re-inserted last: the map keeps use order
        if (times == null) {
            times = new ArrayDeque<>();
        }
        forgetOld(times, now);
        times.addLast(now);
        events.put(key, times);
        Iterator<String> oldest = events.keySet().iterator();
        while (events.size() > maxKeys && oldest.hasNext()) {
            oldest.next();
            oldest.remove();
        }
    }

    /** Count one more event unless {@code limit} are already in the window; true if counted. */
    synchronized boolean tryAdd(String key, long now, int limit) {
        if (count(key, now) >= limit) {
            return false;
        }
        add(key, now);
        return true;
    }

    /**
     * The key of a client address: an IPv4 address as is, an IPv6 one by its /64 (one
     * subscriber's network, which holds more addresses than any limit could count).
     */
    static String addressKey(String address) {
        if (address == null || address.indexOf(':') < 0) {
            return String.valueOf(address);
        }
        try {
            byte[] bytes = java.net.InetAddress.getByName(address).getAddress();
            if (bytes.length != 16) {
                return address;
            }
            StringBuilder key = new StringBuilder();
            for (int i = 0; i < 8; i += 2) {
                key.append(String.format("%02x%02x:", bytes[i], bytes[i + 1]));
            }
            return key.append(":/64").toString();
        } catch (java.net.UnknownHostException e) {
            return address;
        }
    }

    private void forgetOld(Deque<Long> times, long now) {
        while (!times.isEmpty() && times.peekFirst() <= now - windowMillis) {
            times.pollFirst();
        }
    }
}
