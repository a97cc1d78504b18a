package io.sluice.proxy.frontend;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Comparator;
import java.util.Locale;

/**
 * The host part of a server account ({@code 'user'@'host'}), matched against a client's address as
 * the server would match it, since the server only ever sees Sluice's own address
 * (docs/accounts.md, "Host patterns"):
 * <ul>
 *   <li>an IP literal ({@code 10.0.0.7}, {@code ::1}): that address;</li>
 *   <li>{@code %} (any run of characters) and {@code _} (one character), {@code \} escaping them,
 *       matched against the client's IP in text form, case-insensitive ({@code 10.0.%});</li>
 *   <li>{@code ip/netmask} ({@code 10.0.0.0/255.255.255.0}) and, as MySQL 8 also takes,
 *       {@code ip/prefix-length} ({@code 10.0.0.0/24}), IPv4 only;</li>
 *   <li>{@code localhost}: a client on a loopback address (127.0.0.0/8, ::1); Sluice listens on TCP
 *       only, and the server would take a loopback client for localhost unless it skips name
 *       resolution.</li>
 * </ul>
 * Host names that need DNS ({@code app1.example.com}, {@code %.example.com}) never match: Sluice
 * resolves no names, like a server run with skip-name-resolve. An empty host matches any client,
 * as on the server, after every other host.
 *
 * <p>Order: when several hosts of an account match, the server takes the most specific one, and so
 * does {@link #MOST_SPECIFIC_FIRST}: hosts without wildcards first, then by the position of their
 * first wildcard (later is more specific; MySQL's and MariaDB's {@code get_sort}), then longer
 * first, then by text, so the choice never depends on the order the server listed them.
 */
final class HostPattern {

    /** Most specific first, as the server tries an account's hosts. */
    static final Comparator<String> MOST_SPECIFIC_FIRST = Comparator.comparingInt(HostPattern::sortValue).reversed()
            .thenComparing(Comparator.comparingInt(String::length).reversed())
            .thenComparing(Comparator.naturalOrder());

    private HostPattern() {
    }

    /** The server's get_sort for one string: 128 without wildcards, else the 1-based position of the first (at most 127), 0 if empty. */
    static int sortValue(String host) {
        if (host.isEmpty()) {
            return 0;
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (c == '\\' && i + 1 < host.length()) {
                i++;
            } else if (c == '%' || c == '_') {
                return Math.min(i + 1, 127);
            }
        }
        return 128;
    }

    /** Whether a client at {@code client} matches host {@code pattern} of an account. */
    static boolean matches(String pattern, InetAddress client) {
        String p = pattern.toLowerCase(Locale.ROOT);
        if (p.isEmpty()) {
            return true; // the server takes an empty host as any host (after every other, see sortValue)
        }
        if (p.equals("localhost")) {
            return client.isLoopbackAddress();
        }
        int slash = p.indexOf('/');
        if (slash > 0) {
            return inNetwork(p.substring(0, slash), p.substring(slash + 1), client);
        }
        String ip = text(client);
        return like(p, 0, ip, 0);
    }

    /**
     * Whether {@code pattern} names hosts by DNS name ({@code app1.example.com}, {@code %.example.com}),
     * which {@link #matches} never matches: a letter other than in {@code localhost} or an IPv6 hex group.
     */
    static boolean needsDns(String pattern) {
        String p = pattern.toLowerCase(Locale.ROOT);
        if (p.equals("localhost") || p.contains(":")) {
            return false; // IPv6 literals and patterns hold hex letters
        }
        return p.chars().anyMatch(Character::isLetter);
    }

    /** The client's address as the server writes it: dotted IPv4 (also for IPv4-mapped IPv6), else compressed IPv6. */
    static String text(InetAddress client) {
        if (client instanceof Inet6Address v6) {
            byte[] b = v6.getAddress();
            boolean mapped = true;
            for (int i = 0; i < 10; i++) {
                mapped &= b[i] == 0;
            }
            mapped &= (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
            if (mapped) {
                return (b[12] & 0xff) + "." + (b[13] & 0xff) + "." + (b[14] & 0xff) + "." + (b[15] & 0xff);
            }
            return compress(v6);
        }
        return client.getHostAddress();
    }

    private static String compress(Inet6Address a) {
        byte[] b = a.getAddress();
        int[] words = new int[8];
        for (int i = 0; i < 8; i++) {
            words[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && words[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append(i == 0 ? "::" : ":");
                i += bestLen - 1;
                continue;
            }
            out.append(Integer.toHexString(words[i]));
            if (i < 7) {
                out.append(':');
            }
        }
        return out.toString();
    }

    /** SQL LIKE with the server's wildcards, on already lower-cased text. */
    private static boolean like(String p, int pi, String s, int si) {
        while (pi < p.length()) {
            char c = p.charAt(pi);
            if (c == '%') {
                while (pi < p.length() && p.charAt(pi) == '%') {
                    pi++;
                }
                if (pi == p.length()) {
                    return true;
                }
                for (int k = si; k <= s.length(); k++) {
                    if (like(p, pi, s, k)) {
                        return true;
                    }
                }
                return false;
            }
            if (si >= s.length()) {
                return false;
            }
            if (c == '_') {
                pi++;
                si++;
                continue;
            }
            if (c == '\\' && pi + 1 < p.length()) {
                pi++;
                c = p.charAt(pi);
            }
            if (c != s.charAt(si)) {
                return false;
            }
            pi++;
            si++;
        }
        return si == s.length();
    }

    /** {@code ip/netmask} or {@code ip/prefix}, IPv4 only; anything else does not match. */
    private static boolean inNetwork(String ip, String mask, InetAddress client) {
        String clientText = text(client);
        Integer net = ipv4(ip);
        Integer c = ipv4(clientText);
        if (net == null || c == null) {
            return false;
        }
        Integer m = ipv4(mask);
        if (m == null) {
            try {
                int bits = Integer.parseInt(mask);
                if (bits < 0 || bits > 32) {
                    return false;
                }
                m = bits == 0 ? 0 : -1 << (32 - bits);
            } catch (NumberFormatException e) {
                return false;
            }
        }
        return (c & m) == net;
    }

    /** A dotted IPv4 literal as an int, or null. */
    private static Integer ipv4(String s) {
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        int v = 0;
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(Character::isDigit)) {
                return null;
            }
            int n = Integer.parseInt(part);
            if (n > 255) {
                return null;
            }
            v = (v << 8) | n;
        }
        return v;
    }
}
