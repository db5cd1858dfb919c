package fr.demarches.keycloak;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SlidingWindowTest {

    @Test
    void countsWithinTheWindowOnlyAndPerKey() {
        SlidingWindow window = new SlidingWindow(1000, 10);
        window.add("a", 0);
        window.add("a", 500);
        window.add("b", 500);
        assertEquals(2, window.count("a", 900));
        assertEquals(1, window.count("a", 1200)); // the first one left the window
        assertEquals(0, window.count("a", 1600));
        assertEquals(1, window.count("b", 1200));
    }

    @Test
    void tryAddStopsAtTheLimitUntilTheOldestLeaves() {
        SlidingWindow window = new SlidingWindow(1000, 10);
        assertTrue(window.tryAdd("ip", 0, 2));
        assertTrue(window.tryAdd("ip", 10, 2));
        assertFalse(window.tryAdd("ip", 20, 2));
        assertTrue(window.tryAdd("ip", 1001, 2));
    }

    @Test
    void keepsABoundedNumberOfKeysForgettingTheLeastRecent() {
        SlidingWindow window = new SlidingWindow(1000, 2);
        window.add("a", 0);
        window.add("b", 1);
        window.add("c", 2);
        assertEquals(0, window.count("a", 3));
        assertEquals(1, window.count("c", 3));
    }

    @Test
    void anIpv6ClientIsCountedByItsSlash64() {
        assertEquals(SlidingWindow.addressKey("2001:db8:1:2::1"), SlidingWindow.addressKey("2001:db8:1:2:ffff::9"));
        assertEquals("2001:0db8:0001:0002::/64", SlidingWindow.addressKey("2001:db8:1:2::1"));
        assertEquals("192.0.2.7", SlidingWindow.addressKey("192.0.2.7"));
    }
}
