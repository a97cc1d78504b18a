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
     * @param wanted       the session's variables that differ from server defaults
     * @param applied      what the backend has that differs from server defaults
     * @param lastInsertId a LAST_INSERT_ID value to restore, or 0
     * @return {@code SET SESSION ...}, or null when the backend already matches
     */
    static String setStatement(Map<String, String> wanted, Map<String, String> applied, long lastInsertId) {
        return setStatement(wanted, applied, Map.of(), Map.of(), lastInsertId);
    }

    /**
     * Also user variables: those the session set by replayable SETs are set again, and those the
     * backend holds for someone else are set to NULL (what an unset variable reads as).
     *
     * @param wantedUser  the session's user variables (name -> literal)
     * @param appliedUser the backend's (name -> literal)
     */
    static String setStatement(Map<String, String> wanted, Map<String, String> applied, Map<String, String> wantedUser,
                               Map<String, String> appliedUser, long lastInsertId) {
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
                bucket(name, charsets, collations, others).add(name + " = DEFAULT");
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
