/* test_address.c - transport/address.c: every accepted form round-trips, every refusal
 * says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"
#include "mpx/error.h"

static void round_trip(const char *text, addr_scheme scheme, const char *host, unsigned port)
{
    mpx_address a;
    char err[128], back[256];
    assert_int_equal(address_parse(text, &a, err, sizeof err), MPX_OK);
    assert_int_equal(a.scheme, scheme);
    if (scheme != ADDR_UNIX) {
        assert_string_equal(a.host, host);
        assert_int_equal(a.port, port);
    } else {
        assert_string_equal(a.path, host);
    }
    assert_true(address_format(&a, back, sizeof back) > 0);
    assert_string_equal(back, text);
}

static void test_accepted(void **state)
{
    (void)state;
    round_trip("tcp://127.0.0.1:5000", ADDR_TCP, "127.0.0.1", 5000);
    round_trip("tcp://[::1]:65535", ADDR_TCP, "::1", 65535);
    round_trip("tcp://manager.example:0", ADDR_TCP, "manager.example", 0);
    round_trip("unix:///run/mpx/m.sock", ADDR_UNIX, "/run/mpx/m.sock", 0);
    round_trip("tls://manager.example:5000", ADDR_TLS, "manager.example", 5000);
    round_trip("tls://[::1]:443", ADDR_TLS, "::1", 443);
}

static void refused(const char *text, const char *reason)
{
    mpx_address a;
    char err[128];
    assert_int_equal(address_parse(text, &a, err, sizeof err), MPX_EADDR);
    assert_non_null(strstr(err, reason));
}

static void test_refused(void **state)
{
    (void)state;
    refused("127.0.0.1:5000", "missing scheme");
    refused("http://x:1", "unknown scheme");
    refused("tcp://host", "missing ':PORT'");
    refused("tls://host", "missing ':PORT'");
    refused("tcp://host:", "port");
    refused("tcp://host:65536", "port");
    refused("tcp://host:12a", "port");
    refused("tcp://:5000", "empty host");
    refused("tcp://::1:5000", "brackets");
    refused("tcp://[::1:5000", "']'");
    refused("unix://relative/path", "absolute");
    char longpath[200] = "unix:///";
    memset(longpath + 8, 'p', 150);
    refused(longpath, "too long");
}

static void test_format_small_buffer(void **state)
{
    (void)state;
    mpx_address a;
    char err[64], tiny[8];
    assert_int_equal(address_parse("tcp://127.0.0.1:5000", &a, err, sizeof err), MPX_OK);
    assert_int_equal(address_format(&a, tiny, sizeof tiny), MPX_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_format_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
