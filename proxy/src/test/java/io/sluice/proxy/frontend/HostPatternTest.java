package io.sluice.proxy.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The server's host matching, as Sluice applies it to the client's address. */
class HostPatternTest {

    @ParameterizedTest(name = "''{0}'' vs {1} -> {2}")
    @CsvSource(delimiter = '|', value = {
            "%|10.1.2.3|true",
            "%|::1|true",
            "''|10.1.2.3|true",
            "10.1.2.3|10.1.2.3|true",
            "10.1.2.3|10.1.2.30|false",
            "10.1.2.%|10.1.2.30|true",
            "10.1.2.%|10.1.20.3|false",
            "10.%|127.0.0.1|false",
            "10.1.2._|10.1.2.7|true",
            "10.1.2._|10.1.2.70|false",
            "10\\.1.2.3|10.1.2.3|true",
            "10.0.0.0/255.255.255.0|10.0.0.77|true",
            "10.0.0.0/255.255.255.0|10.0.1.77|false",
            "10.0.0.0/255.0.0.0|10.200.1.1|true",
            "10.0.0.0/24|10.0.0.255|true",
            "10.0.0.0/24|10.0.1.0|false",
            "0.0.0.0/0|192.168.1.1|true",
            "10.0.0.0/255.255.255.0|::1|false",
            "localhost|127.0.0.1|true",
            "LOCALHOST|127.0.0.5|true",
            "localhost|::1|true",
            "localhost|10.1.2.3|false",
            "127.0.0.1|::ffff:127.0.0.1|true",
            "::1|::1|true",
            "fe80::%|fe80::1|true",
            "app1.example.com|10.1.2.3|false",
            "%.example.com|10.1.2.3|false",
    })
    void matchesAsTheServerDoes(String pattern, String client, boolean expected) throws Exception {
        assertEquals(expected, HostPattern.matches(pattern, InetAddress.getByName(client)));
    }

    @Test
    void hostsThatNeedDnsAreKnownForTheLog() {
        for (String dns : List.of("app1.example.com", "%.example.com", "DB_HOST")) {
            assertEquals(true, HostPattern.needsDns(dns), dns);
        }
        for (String ip : List.of("%", "10.0.%", "localhost", "::1", "fe80::%", "10.0.0.0/255.255.255.0", "")) {
            assertEquals(false, HostPattern.needsDns(ip), ip);
        }
    }

    @Test
    void theMostSpecificHostComesFirst() {
        List<String> hosts = new ArrayList<>(List.of("%", "10.%", "", "10.0.0.%", "10.0.0.7", "localhost",
                "10.0.0.0/255.255.255.0", "1%"));
        hosts.sort(HostPattern.MOST_SPECIFIC_FIRST);
        // Without wildcards: longer first, then by text (so 127.0.0.1 before localhost for a loopback client).
        assertEquals(List.of("10.0.0.0/255.255.255.0", "localhost", "10.0.0.7", "10.0.0.%", "10.%", "1%", "%", ""), hosts);
        List<String> loopback = new ArrayList<>(List.of("localhost", "127.0.0.1"));
        loopback.sort(HostPattern.MOST_SPECIFIC_FIRST);
        assertEquals(List.of("127.0.0.1", "localhost"), loopback);
    }
}
