package io.sluice.proxy.backend;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * The server-side session state one backend connection carries, as far as Sluice knows it: the
 * schema selected, the session variables that differ from the server's defaults, the login values
 * of {@link BackendConnection#LOGIN_VARIABLES}, replayable user variables, the prepared statements
 * kept for reuse, the last insert id and whose statement ran last. Readers get read-only views;
 * the state changes only here, through the methods below, each named for what happened on the
 * server, so every change to a backend's books is one call in one class.
 *
 * <p>Threading: owned by whoever uses the connection (the linked session's loop; the connection's
 * own loop during login and reset). {@link #loginVariables()} is written once after login and read
 * from other loops, hence volatile.
 */
public final class ServerState {
    /** Schema selected on the server; null = none selected. */
    private String schema;
    /** Session system variables that differ from the server's defaults (multiplexed connections only). */
    private final Map<String, String> variables = new HashMap<>();
    private final Map<String, String> variablesView = Collections.unmodifiableMap(variables);
    /**
     * What the variables of {@link BackendConnection#LOGIN_VARIABLES} read right after login (name ->
     * value, as the server reports them), read once per connection (multiplexed connections only,
     * empty otherwise). A variable a client changed is put back to this value, not to DEFAULT:
     * DEFAULT is the server's global value, while the login set these from the handshake (the
     * collation sets the character sets, CLIENT_INTERACTIVE the wait_timeout). A reset gives the
     * same values again: COM_CHANGE_USER carries the same collation, and the reset sets the
     * interactive wait_timeout again.
     */
    private volatile Map<String, String> loginVariables = Map.of();
    /** User variables set here by replayable SETs (name -> literal); others pin their session. */
    private final Map<String, String> userVariables = new HashMap<>();
    private final Map<String, String> userVariablesView = Collections.unmodifiableMap(userVariables);
    /** Server-side prepared statements here, shared by the sessions that use this connection (transaction mode). */
    private final ServerStatements statements = new ServerStatements();
    /**
     * What LAST_INSERT_ID() returns here, as far as Sluice saw (the insert id of the last OK packet
     * that carried one, or a value Sluice set); 0 after login or a reset.
     */
    private long lastInsertId;
    /** Sluice id of the session whose statement ran here last (0: none, or one of Sluice's own): ROW_COUNT() and FOUND_ROWS() are its. */
    private long lastStatementBy;

    public String schema() {
        return schema;
    }

    /** Variables that differ from the server's defaults here (read-only view). */
    public Map<String, String> variables() {
        return variablesView;
    }

    /** The values the variables of {@link BackendConnection#LOGIN_VARIABLES} had right after login; empty when not read. */
    public Map<String, String> loginVariables() {
        return loginVariables;
    }

    /** User variables set here by replayable SETs (read-only view). */
    public Map<String, String> userVariables() {
        return userVariablesView;
    }

    /** Prepared statements kept here for statement virtualization (the cache has its own methods). */
    public ServerStatements statements() {
        return statements;
    }

    public long lastInsertId() {
        return lastInsertId;
    }

    public long lastStatementBy() {
        return lastStatementBy;
    }

    // ---- changes, each named for what happened on the server

    /** The server reported (session tracking) that {@code name} is now {@code value}. */
    public void variableChanged(String name, String value) {
        variables.put(name, value);
    }

    /** The server reported the schema selected, or Sluice's INIT_DB selected it; null = none. */
    public void schemaSelected(String name) {
        schema = name;
    }

    /** A SET Sluice sent made the tracked variables exactly {@code wanted} (and, if given, the user variables). */
    public void variablesSet(Map<String, String> wanted, Map<String, String> wantedUserVariables) {
        variables.clear();
        variables.putAll(wanted);
        if (wantedUserVariables != null) {
            userVariables.clear();
            userVariables.putAll(wantedUserVariables);
        }
    }

    /** A client's replayable SET assigned these user variables here. */
    public void userVariablesAssigned(Map<String, String> assigned) {
        userVariables.putAll(assigned);
    }

    /** An OK carried this insert id, or Sluice set it. */
    public void insertId(long id) {
        lastInsertId = id;
    }

    /** A statement of session {@code sessionId} ran here (0: one of Sluice's own). */
    public void statementRanFor(long sessionId) {
        lastStatementBy = sessionId;
    }

    /** The connection was reset (COM_CHANGE_USER): as after a fresh login. */
    void reset() {
        schema = null;
        variables.clear();
        userVariables.clear();
        statements.clear();
        lastInsertId = 0;
        lastStatementBy = 0;
    }

    /** Read once after login. */
    void loginVariables(Map<String, String> values) {
        loginVariables = Map.copyOf(values);
    }
}
