package io.sluice.proxy.backend;

import java.util.Arrays;
import java.util.Objects;

/**
 * What a server-side prepared statement means: its SQL text (bytes, in the client's character set)
 * and the session context the server parses it in: the current schema (unqualified table names),
 * sql_mode (ANSI_QUOTES and friends) and the client character set and connection collation (string
 * literals). Two statements with equal keys can share one server statement on a backend connection.
 *
 * @param schema         current schema when it was prepared, or null
 * @param sqlMode        session sql_mode when it was prepared, or null for the server default
 * @param charsetClient  character_set_client then, or null for the handshake's
 * @param collation      collation_connection then, or null for the handshake's
 */
public record StatementKey(String schema, String sqlMode, String charsetClient, String collation, Sql sql) {

    /** The SQL text, compared by content, with its hash computed once. */
    public static final class Sql {
        private final byte[] bytes;
        private final int hash;

        public Sql(byte[] bytes) {
            this.bytes = bytes;
            this.hash = Arrays.hashCode(bytes);
        }

        public byte[] bytes() {
            return bytes;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Sql s && s.hash == hash && Arrays.equals(s.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public String toString() {
            return new String(bytes, 0, Math.min(bytes.length, 80), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** The key for {@code sql} prepared in this session context ({@code variables}: name -> value, changed ones only). */
    public static StatementKey of(String schema, java.util.Map<String, String> variables, byte[] sql) {
        return new StatementKey(schema, variables.get("sql_mode"), variables.get("character_set_client"),
                variables.get("collation_connection"), new Sql(sql));
    }

    /** Whether a session with this schema and these variables parses the SQL as the key says. */
    public boolean matches(String currentSchema, java.util.Map<String, String> variables) {
        return Objects.equals(schema, currentSchema) && Objects.equals(sqlMode, variables.get("sql_mode"))
                && Objects.equals(charsetClient, variables.get("character_set_client"))
                && Objects.equals(collation, variables.get("collation_connection"));
    }

    /** {@code variables} with this key's context variables in place of the session's. */
    public java.util.Map<String, String> contextOver(java.util.Map<String, String> variables) {
        java.util.Map<String, String> out = new java.util.HashMap<>(variables);
        put(out, "sql_mode", sqlMode);
        put(out, "character_set_client", charsetClient);
        put(out, "collation_connection", collation);
        return out;
    }

    private static void put(java.util.Map<String, String> m, String name, String value) {
        if (value == null) {
            m.remove(name);
        } else {
            m.put(name, value);
        }
    }
}
