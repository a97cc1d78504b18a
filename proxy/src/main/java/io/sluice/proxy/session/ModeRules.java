package io.sluice.proxy.session;

import io.sluice.config.PoolMode;
import io.sluice.proxy.pool.BackendPools;

/**
 * What the pool mode decides about a session's backend, as one type with an implementation per
 * mode, chosen at login and at COM_CHANGE_USER ({@link #of}); the session asks it without asking
 * which mode it is. What the mode decides per command is in {@link CommandRouter}; both paths
 * read {@code CommandPath.multiplexed()} (a field compare, kept on purpose: it runs per packet).
 *
 * <p>Stateless constants; any thread.
 */
enum ModeRules {
    /** Session mode: a client keeps its backend from its first command until it leaves. */
    SESSION {
        @Override
        boolean releasesBetweenTransactions() {
            return false;
        }

        @Override
        BackendPools.Release onIdleClose(boolean pinned) {
            return BackendPools.Release.RESET;
        }

        @Override
        boolean keepsBackendAfterLogin() {
            return true;
        }

        @Override
        boolean needsBackendWithoutReply() {
            return false;
        }
    },
    /** Transaction mode: backends are shared between statements; a session keeps one only while pinned. */
    TRANSACTION {
        @Override
        boolean releasesBetweenTransactions() {
            return true;
        }

        @Override
        BackendPools.Release onIdleClose(boolean pinned) {
            // An unpinned backend holds only movable state, which the next user diffs away.
            return pinned ? BackendPools.Release.RESET : BackendPools.Release.CLEAN;
        }

        @Override
        boolean keepsBackendAfterLogin() {
            return false;
        }

        @Override
        boolean needsBackendWithoutReply() {
            return true;
        }
    };

    static ModeRules of(PoolMode mode) {
        return mode == PoolMode.TRANSACTION ? TRANSACTION : SESSION;
    }

    /** Whether the backend goes back to the pool as soon as nothing ties the session to it (no pin, nothing outstanding). */
    abstract boolean releasesBetweenTransactions();

    /** How an idle backend goes back when the session closes; {@code pinned}: a pin holds. */
    abstract BackendPools.Release onIdleClose(boolean pinned);

    /** A login that checked its schema on a backend keeps that backend. */
    abstract boolean keepsBackendAfterLogin();

    /**
     * COM_STMT_SEND_LONG_DATA with no backend linked still needs one: in transaction mode the
     * statement lives in Sluice and is prepared on the backend that takes the data; in session mode
     * no statement lives anywhere to act on (and COM_STMT_CLOSE has nothing to close in either).
     */
    abstract boolean needsBackendWithoutReply();
}
