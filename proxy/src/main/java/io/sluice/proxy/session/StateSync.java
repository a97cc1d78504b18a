package io.sluice.proxy.session;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Builds the one statement that brings a backend's session variables to a client session's: only
 * the variables that differ, in a single {@code SET SESSION} (one round trip), or nothing at all.
 * Pure function; tested without a server in {@code StateSyncTest} and end to end in {@code MultiplexingIT}.
 */
final class StateSync {
    /** A value SET takes bare; compiled once (String.matches compiles on every call). */
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?");

    private StateSync() {
    }

    /**
     * A variable the session did not change but the backend has is put back to the backend's
     * login value when {@code login} has one (the character sets and collation of the handshake,
     * wait_timeout), else to DEFAULT, the server's global value, which is what a login gives for
     * the rest. Session and backend share the handshake collation (it is part of their key), so
     * the backend's login values are the session's too.
     *
     * @param wanted       the session's variables that differ from what its login gave
     * @param applied      what the backend has that differs from what its login gave
     * @param login        the backend's values after login of variables DEFAULT would not restore
     * @param lastInsertId a LAST_INSERT_ID value to restore, or 0
     * @return {@code SET SESSION ...}, or null when the backend already matches
     */
    static String setStatement(Map<String, String> wanted, Map<String, String> applied, Map<String, String> login,
                               long lastInsertId) {
        return setStatement(wanted, applied, login, Map.of(), Map.of(), lastInsertId);
    }

    /**
     * Also user variables: those the session set by replayable SETs are set again, and those the
     * backend holds for someone else are set to NULL (what an unset variable reads as).
     *
     * @param wantedUser  the session's user variables (name -> literal)
     * @param appliedUser the backend's (name -> literal)
     */
    static String setStatement(Map<String, String> wanted, Map<String, String> applied, Map<String, String> login,
                               Map<String, String> wantedUser, Map<String, String> appliedUser, long lastInsertId) {
        List<String> user = new ArrayList<>();
        for (Map.Entry<String, String> e : wantedUser.entrySet()) {
            if (!e.getValue().equals(appliedUser.get(e.getKey()))) {
                user.add("@" + e.getKey() + " = " + e.getValue());
            }
        }
        for (String name : appliedUser.keySet()) {
            if (!wantedUser.containsKey(name)) {
                user.add("@" + name + " = NULL");
            }
        }
        List<String> charsets = new ArrayList<>();
        List<String> collations = new ArrayList<>();
        List<String> others = new ArrayList<>();
        for (Map.Entry<String, String> e : wanted.entrySet()) {
            if (!e.getValue().equals(applied.get(e.getKey()))) {
                bucket(e.getKey(), charsets, collations, others).add(e.getKey() + " = " + literal(e.getKey(), e.getValue()));
            }
        }
        for (String name : applied.keySet()) {
            if (!wanted.containsKey(name)) {
                bucket(name, charsets, collations, others).add(name + " = " + restored(name, login));
            }
        }
        // SET character_set_connection also sets collation_connection (to the character set's
        // default collation): when it is set, set the collation after it even if it looked equal.
        // (isEmpty first: when nothing differs no iterator is made, and the lists stay allocation-free.)
        if (!charsets.isEmpty() && startsWith(charsets, CHARSET_CONNECTION) && !startsWith(collations, COLLATION_CONNECTION)) {
            String v = wanted.get(COLLATION_CONNECTION);
            if (v != null) {
                collations.add(COLLATION_CONNECTION + " = " + literal(COLLATION_CONNECTION, v));
            } else if (!wanted.containsKey(CHARSET_CONNECTION)) {
                collations.add(COLLATION_CONNECTION + " = " + restored(COLLATION_CONNECTION, login));
            }
        }
        if (lastInsertId != 0) {
            others.add("last_insert_id = " + Long.toUnsignedString(lastInsertId));
        }
        if (user.isEmpty() && charsets.isEmpty() && collations.isEmpty() && others.isEmpty()) {
            return null;
        }
        // character_set_connection resets collation_connection: character sets first, then collations.
        List<String> all = new ArrayList<>(user);
        for (List<String> group : List.of(charsets, collations, others)) {
            for (String a : group) {
                all.add("SESSION " + a);
            }
        }
        return "SET " + String.join(", ", all);
    }

    private static final String CHARSET_CONNECTION = "character_set_connection";
    private static final String COLLATION_CONNECTION = "collation_connection";

    /** What a variable the session never changed is set back to: its login value, or DEFAULT (the global value). */
    private static String restored(String name, Map<String, String> login) {
        String v = login.get(name);
        return v == null ? "DEFAULT" : literal(name, v);
    }

    private static boolean startsWith(List<String> assignments, String name) {
        for (String a : assignments) {
            if (a.startsWith(name + " =")) {
                return true;
            }
        }
        return false;
    }

    private static List<String> bucket(String name, List<String> charsets, List<String> collations, List<String> others) {
        if (name.startsWith("character_set_")) {
            return charsets;
        }
        return name.startsWith("collation_") ? collations : others;
    }

    /**
     * A value as the server reported it, as a literal SET accepts: numbers bare, the rest quoted; an
     * empty character set is NULL (SET character_set_results = NULL reports as "").
     */
    static String literal(String name, String value) {
        if (value.isEmpty() && name.startsWith("character_set_")) {
            return "NULL";
        }
        return literal(value);
    }

    static String literal(String value) {
        if (NUMBER.matcher(value).matches()) {
            return value;
        }
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }
}
