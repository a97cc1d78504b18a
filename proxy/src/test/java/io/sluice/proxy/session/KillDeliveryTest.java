package io.sluice.proxy.session;

import org.junit.jupiter.api.Test;

import static io.sluice.proxy.session.KillDelivery.Verdict.DELIVER;
import static io.sluice.proxy.session.KillDelivery.Verdict.NOT_OWNER;
import static io.sluice.proxy.session.KillDelivery.Verdict.NO_SUCH_SESSION;
import static io.sluice.proxy.session.KillDelivery.Verdict.OWN_CONNECTION;
import static io.sluice.proxy.session.KillDelivery.Verdict.UNSUPPORTED;
import static org.junit.jupiter.api.Assertions.assertEquals;

class KillDeliveryTest {
    @Test
    void anotherSessionOfTheSameUserIsKilledEitherWay() {
        assertEquals(DELIVER, KillDelivery.verdict(new KillStatement(false, 8), 7, "app", "app"));
        assertEquals(DELIVER, KillDelivery.verdict(new KillStatement(true, 8), 7, "app", "app"));
    }

    @Test
    void aFormSluiceDoesNotDeliverIsRefusedBeforeAnyLookUp() {
        assertEquals(UNSUPPORTED, KillDelivery.verdict(KillStatement.UNSUPPORTED, 7, "app", null));
        assertEquals(UNSUPPORTED, KillDelivery.verdict(KillStatement.UNSUPPORTED, 7, "app", "app"));
    }

    @Test
    void unknownIdsAndOtherUsersSessionsAreRefusedAsTheServerWould() {
        assertEquals(NO_SUCH_SESSION, KillDelivery.verdict(new KillStatement(false, 99), 7, "app", null));
        assertEquals(NOT_OWNER, KillDelivery.verdict(new KillStatement(false, 8), 7, "app", "admin"));
        assertEquals(NOT_OWNER, KillDelivery.verdict(new KillStatement(true, 8), 7, "app", "admin"));
    }

    @Test
    void killConnectionOfItselfEndsTheSessionButKillQueryOfItselfIsDelivered() {
        assertEquals(OWN_CONNECTION, KillDelivery.verdict(new KillStatement(false, 7), 7, "app", "app"));
        // KILL QUERY of itself: nothing runs while it runs, so the target answers with no thread (OK).
        assertEquals(DELIVER, KillDelivery.verdict(new KillStatement(true, 7), 7, "app", "app"));
    }
}
