package io.sluice.proxy.cluster;

import static io.sluice.proxy.cluster.ReadClassifier.PRIMARY_HINT;
import static io.sluice.proxy.cluster.ReadClassifier.READ;
import static io.sluice.proxy.cluster.ReadClassifier.READ_ONLY_TRANSACTION;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Which statements may run on a replica: rule 4 of the cluster issue, one case per rule. */
class ReadClassifierTest {

    @ParameterizedTest
    @ValueSource(strings = {
        "SELECT 1",
        "select * from t where id = 5",
        "  /* app */ SELECT a FROM t",
        "SELECT 'INSERT INTO x' AS s, `update` FROM t", // words inside quotes do not count
        "WITH c AS (SELECT 1) SELECT * FROM c",
        "(SELECT 1) UNION (SELECT 2)",
        "DESCRIBE t",
        "EXPLAIN SELECT * FROM t",
        "SELECT @x, @@session.time_zone",
        "SELECT * FROM t -- trailing comment",
        "SELECT * FROM t;",
        "SELECT NOW(), RAND(), UUID()",
        "SELECT * FROM insert_log", // a name that starts like a keyword
    })
    void readsMayRunOnAReplica(String sql) {
        assertEquals(READ, ReadClassifier.classify(sql), sql);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET a = 1",
        "DELETE FROM t",
        "REPLACE INTO t VALUES (1)",
        "CREATE TABLE x (a INT)",
        "CREATE TEMPORARY TABLE x (a INT)",
        "SET @x = 1",
        "SET autocommit = 0",
        "BEGIN",
        "START TRANSACTION",
        "START TRANSACTION READ WRITE",
        "COMMIT",
        "CALL p()",
        "DO GET_LOCK('a', 1)",
        "SELECT * FROM t FOR UPDATE",
        "SELECT * FROM t FOR SHARE",
        "SELECT * FROM t LOCK IN SHARE MODE",
        "SELECT GET_LOCK('a', 1)",
        "SELECT RELEASE_LOCK('a')",
        "SELECT IS_FREE_LOCK('a')",
        "SELECT LAST_INSERT_ID()",
        "SELECT @@last_insert_id",
        "SELECT @@session.last_insert_id",
        "SELECT @@identity",
        "SELECT NEXTVAL(s)",
        "SELECT NEXT VALUE FOR s",
        "SELECT FOUND_ROWS()",
        "SELECT ROW_COUNT()",
        "SELECT SQL_CALC_FOUND_ROWS * FROM t",
        "SELECT @x := 1",
        "SELECT a INTO @x FROM t",
        "SELECT * FROM t INTO OUTFILE '/tmp/x'",
        "SELECT 1; SELECT 2",
        "SELECT 1; DELETE FROM t",
        "EXPLAIN ANALYZE SELECT * FROM t",
        "ANALYZE SELECT * FROM t",
        "WITH c AS (SELECT 1) UPDATE t JOIN c SET a = 1",
        "SHOW MASTER STATUS",
        "SHOW WARNINGS",
        "USE db",
        "/*!40101 INSERT INTO t VALUES (1) */",
        "SELECT MASTER_GTID_WAIT('0-1-5')",
        "PREPARE s FROM 'SELECT 1'",
        "HANDLER t OPEN",
        "LOCK TABLES t READ",
    })
    void everythingElseGoesToThePrimary(String sql) {
        assertEquals(0, ReadClassifier.classify(sql) & READ, sql);
    }

    @Test
    void readOnlyTransactions() {
        assertEquals(READ_ONLY_TRANSACTION, ReadClassifier.classify("START TRANSACTION READ ONLY"));
        assertEquals(READ_ONLY_TRANSACTION, ReadClassifier.classify("start transaction read only, with consistent snapshot"));
        assertEquals(0, ReadClassifier.classify("START TRANSACTION READ WRITE"));
        assertEquals(0, ReadClassifier.classify("START TRANSACTION"));
        assertEquals(0, ReadClassifier.classify("SET TRANSACTION READ ONLY"));
    }

    @Test
    void thePrimaryHint() {
        assertEquals(READ | PRIMARY_HINT, ReadClassifier.classify("/* sluice:primary */ SELECT * FROM t"));
        assertEquals(READ | PRIMARY_HINT, ReadClassifier.classify("SELECT * FROM t /* Sluice:Primary */"));
        assertEquals(READ | PRIMARY_HINT, ReadClassifier.classify("SELECT * FROM t -- sluice:primary"));
        assertEquals(READ, ReadClassifier.classify("SELECT 'sluice:primary'")); // in a string, not a comment
    }
}
