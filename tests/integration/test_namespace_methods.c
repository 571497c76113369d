/* test_namespace_methods.c - every method of the Namespace proxy against a real manager.
 *
 * Each case runs in its own forked child with its own client (harness.c). Attributes set,
 * read, deleted, listed, copied and printed the way Python's Namespace does, and the
 * errors: AttributeError (with Python's message), TypeError (non-str names through the
 * generic call, bad constructor arguments), plus the failures every proxy shares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mpx/namespace.h"
#include "mpx/proxy.h"

static t_manager M;

static mpx_namespace *fresh_ns(mpx_client *c)
{
    mpx_namespace *ns = NULL;
    T_OK(c, mpx_namespace_create(c, NULL, &ns));
    T_CHECK(ns != NULL);
    return ns;
}

static void set_lit(mpx_client *c, mpx_namespace *ns, const char *attr, const char *lit)
{
    mpx_value v = t_val(lit);
    T_OK(c, mpx_namespace_set(ns, attr, &v));
    mpx_value_free(&v);
}

static void expect_attr(mpx_client *c, mpx_namespace *ns, const char *attr, const char *want)
{
    mpx_value out;
    T_OK(c, mpx_namespace_get(ns, attr, &out));
    T_REPR(&out, want);
    mpx_value_free(&out);
}

static void expect_repr(mpx_client *c, mpx_namespace *ns, const char *want)
{
    char *text = NULL;
    T_OK(c, mpx_namespace_repr(ns, &text));
    T_EQ_STR(text, want);
    free(text);
}

static void case_set_get(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_namespace *ns = fresh_ns(c);
    set_lit(c, ns, "x", "1");
    set_lit(c, ns, "name", "'mpx'");
    set_lit(c, ns, "data", "{'k': [1, (2, b'3')]}");
    set_lit(c, ns, "nothing", "None");
    expect_attr(c, ns, "x", "1");
    expect_attr(c, ns, "name", "'mpx'");
    expect_attr(c, ns, "data", "{'k': [1, (2, b'3')]}");
    expect_attr(c, ns, "nothing", "None");
    set_lit(c, ns, "x", "[2.5]"); /* overwrite with another kind */
    expect_attr(c, ns, "x", "[2.5]");
    /* names are any UTF-8 str */
    set_lit(c, ns, "caf\xc3\xa9", "'\\u2603'");
    expect_attr(c, ns, "caf\xc3\xa9", "'\xe2\x98\x83'");
    mpx_namespace_close(ns);
    mpx_client_close(c);
}

static void case_unix_socket(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, M.addresses[1]);
    mpx_namespace *ns = fresh_ns(c);
    set_lit(c, ns, "via", "'unix'");
    expect_attr(c, ns, "via", "'unix'");
    mpx_namespace_close(ns);
    mpx_client_close(c);
}

static void case_missing_attribute(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_namespace *ns = fresh_ns(c);
    mpx_value out = mpx_value_int(5);
    T_RC(c, mpx_namespace_get(ns, "missing", &out), MPX_EATTR);
    T_EQ_INT(mpx_value_kind(&out), MPX_NONE);
    T_ERRMSG_IS(c, "'Namespace' object has no attribute 'missing'");
    T_EQ_INT(mpx_client_errcode(c), MPX_EATTR);
    T_RC(c, mpx_namespace_del(ns, "missing"), MPX_EATTR);
    T_ERRMSG_IS(c, "'Namespace' object has no attribute 'missing'");
    set_lit(c, ns, "here", "1");
    T_OK(c, mpx_namespace_del(ns, "here"));
    T_RC(c, mpx_namespace_get(ns, "here", &out), MPX_EATTR);
    T_RC(c, mpx_namespace_del(ns, "here"), MPX_EATTR);
    T_ERRMSG_IS(c, "'Namespace' object has no attribute 'here'");
    mpx_namespace_close(ns);
    mpx_client_close(c);
}

static void case_dir_copy(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_namespace *ns = fresh_ns(c);
    mpx_value out;
    T_OK(c, mpx_namespace_dir(ns, &out));
    T_REPR(&out, "[]");
    mpx_value_free(&out);
    T_OK(c, mpx_namespace_copy(ns, &out));
    T_REPR(&out, "{}");
    mpx_value_free(&out);
    set_lit(c, ns, "zeta", "1");
    set_lit(c, ns, "alpha", "2");
    set_lit(c, ns, "Mid", "3");
    set_lit(c, ns, "_hidden", "4");
    T_OK(c, mpx_namespace_dir(ns, &out));
    T_EQ_INT(mpx_value_kind(&out), MPX_LIST);
    T_REPR(&out, "['Mid', '_hidden', 'alpha', 'zeta']");
    mpx_value_free(&out);
    T_OK(c, mpx_namespace_copy(ns, &out));
    T_EQ_INT(mpx_value_kind(&out), MPX_DICT);
    T_REPR(&out, "{'zeta': 1, 'alpha': 2, 'Mid': 3, '_hidden': 4}");
    mpx_value_free(&out);
    mpx_namespace_close(ns);
    mpx_client_close(c);
}

static void case_repr(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_namespace *ns = fresh_ns(c);
    expect_repr(c, ns, "Namespace()");
    set_lit(c, ns, "b", "'x'");
    set_lit(c, ns, "a", "2");
    set_lit(c, ns, "a0", "[1]");
    set_lit(c, ns, "_private", "0");
    /* Python sorts the "name=value" strings and hides names starting with '_' */
    expect_repr(c, ns, "Namespace(a0=[1], a=2, b='x')");
    mpx_namespace_close(ns);
    mpx_client_close(c);
}

static void case_create_with_attrs(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_value attrs = t_val("{'x': 1, 'y': 'two'}");
    mpx_namespace *ns;
    T_OK(c, mpx_namespace_create(c, &attrs, &ns));
    T_REPR(&attrs, "{'x': 1, 'y': 'two'}"); /* borrowed */
    expect_attr(c, ns, "x", "1");
    expect_attr(c, ns, "y", "'two'");
    expect_repr(c, ns, "Namespace(x=1, y='two')");
    mpx_namespace_close(ns);
    mpx_value_free(&attrs);

    attrs = t_val("{1: 'x'}");
    ns = (mpx_namespace *)&attrs;
    T_RC(c, mpx_namespace_create(c, &attrs, &ns), MPX_ETYPE);
    T_CHECK(ns == NULL);
    T_ERRMSG_IS(c, "keywords must be strings");
    mpx_value_free(&attrs);

    attrs = t_val("[('x', 1)]");
    T_RC(c, mpx_namespace_create(c, &attrs, &ns), MPX_ETYPE);
    mpx_value_free(&attrs);
    mpx_client_close(c);
}

static void case_bad_attribute_names(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_namespace *ns = fresh_ns(c);
    mpx_proxy *p = mpx_namespace_proxy(ns);
    mpx_value args[2] = {t_val("5"), t_val("'v'")}, out;
    T_RC(c, mpx_proxy_call(p, "__getattribute__", args, 1, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "attribute name must be string, not 'int'");
    T_RC(c, mpx_proxy_call(p, "__setattr__", args, 2, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "attribute name must be string, not 'int'");
    T_RC(c, mpx_proxy_call(p, "__delattr__", args, 1, &out), MPX_ETYPE);
    mpx_value_free(&args[0]);
    args[0] = t_val("b'x'");
    T_RC(c, mpx_proxy_call(p, "__setattr__", args, 2, &out), MPX_ETYPE);
    T_ERRMSG_IS(c, "attribute name must be string, not 'bytes'");
    /* the generic names do what the typed calls do */
    mpx_value_free(&args[0]);
    args[0] = t_val("'g'");
    T_OK(c, mpx_proxy_call(p, "__setattr__", args, 2, &out));
    mpx_value_free(&out);
    T_OK(c, mpx_proxy_call(p, "__getattribute__", args, 1, &out));
    T_REPR(&out, "'v'");
    mpx_value_free(&out);
    T_OK(c, mpx_proxy_call(p, "__dir__", NULL, 0, &out));
    T_REPR(&out, "['g']");
    mpx_value_free(&out);
    T_OK(c, mpx_proxy_call(p, "__delattr__", args, 1, &out));
    mpx_value_free(&out);
    expect_repr(c, ns, "Namespace()");
    t_free_all(args, 2);
    mpx_namespace_close(ns);
    mpx_client_close(c);
}

static void case_named_namespace(void *arg)
{
    (void)arg;
    mpx_client *a = t_connect(&M, NULL), *b = t_connect(&M, M.addresses[1]);
    mpx_namespace *na, *nb;
    T_OK(a, mpx_namespace_open(a, "named-ns", &na));
    T_OK(b, mpx_namespace_open(b, "named-ns", &nb));
    T_EQ_STR(mpx_proxy_type(mpx_namespace_proxy(na)), "Namespace");
    set_lit(a, na, "counter", "41");
    expect_attr(b, nb, "counter", "41");
    set_lit(b, nb, "counter", "42");
    expect_attr(a, na, "counter", "42");
    mpx_proxy *p = (mpx_proxy *)na;
    T_RC(a, mpx_proxy_open(a, "dict", "named-ns", NULL, 0, &p), MPX_EEXIST);
    T_CHECK(p == NULL);
    T_RC(a, mpx_proxy_open(a, "list", "named-ns", NULL, 0, &p), MPX_EEXIST);
    T_OK(a, mpx_proxy_open(a, "list", "named-list-for-ns", NULL, 0, &p));
    mpx_namespace *wrong = na;
    T_RC(a, mpx_namespace_open(a, "named-list-for-ns", &wrong), MPX_EEXIST);
    T_CHECK(wrong == NULL);
    mpx_proxy_close(p);
    mpx_namespace_close(na);
    mpx_namespace_close(nb);
    mpx_client_close(a);
    mpx_client_close(b);
}

static void case_generic_failures(void *arg)
{
    (void)arg;
    mpx_client *c = t_connect(&M, NULL);
    mpx_namespace *ns = fresh_ns(c);
    mpx_value out = mpx_value_int(1);
    T_RC(c, mpx_proxy_call(mpx_namespace_proxy(ns), "nosuch", NULL, 0, &out), MPX_ENOMETHOD);
    T_EQ_INT(mpx_value_kind(&out), MPX_NONE);
    T_ERRMSG_HAS(c, "nosuch");
    T_RC(c, mpx_proxy_call(mpx_namespace_proxy(ns), "append", NULL, 0, &out), MPX_ENOMETHOD);
    T_RC(c, mpx_proxy_call(mpx_namespace_proxy(ns), "__getattribute__", NULL, 0, &out),
         MPX_ETYPE);
    T_RC(c, mpx_client_call(c, 999999, "__getattribute__", NULL, 0, -1, &out), MPX_ENOOBJECT);
    T_ERRMSG_HAS(c, "999999");
    expect_repr(c, ns, "Namespace()");
    mpx_namespace_close(ns);
    mpx_client_close(c);
}

static void case_token_attach(void *arg)
{
    (void)arg;
    mpx_client *a = t_connect(&M, NULL);
    mpx_namespace *ns = fresh_ns(a);
    set_lit(a, ns, "shared", "'yes'");
    char token[MPX_TOKEN_MAX], addr[MPX_TOKEN_MAX];
    T_OK(a, mpx_namespace_token(ns, token, sizeof token));
    T_CHECK(strstr(token, "Namespace") != NULL);
    T_OK(a, mpx_token_address(token, addr, sizeof addr));
    mpx_client *b = t_connect(&M, addr);
    mpx_namespace *nb;
    T_OK(b, mpx_namespace_attach(b, token, &nb));
    expect_attr(b, nb, "shared", "'yes'");
    mpx_proxy *p;
    T_RC(b, mpx_proxy_attach(b, token, "dict", &p), MPX_ETYPE);
    /* from a reference value */
    mpx_value ref;
    T_OK(b, mpx_value_ref(&ref, mpx_proxy_id(mpx_namespace_proxy(nb)), "Namespace"));
    mpx_namespace *nc;
    T_OK(b, mpx_namespace_from_ref(b, &ref, &nc));
    expect_attr(b, nc, "shared", "'yes'");
    mpx_value_free(&ref);
    mpx_namespace_close(nc);
    mpx_namespace_close(nb);
    mpx_namespace_close(ns);
    mpx_client_close(b);
    mpx_client_close(a);
}

int main(void)
{
    const char *listen[] = {"tcp", "unix", NULL};
    t_manager_start(&M, listen, NULL);
    T_RUN(case_set_get, NULL);
    T_RUN(case_unix_socket, NULL);
    T_RUN(case_missing_attribute, NULL);
    T_RUN(case_dir_copy, NULL);
    T_RUN(case_repr, NULL);
    T_RUN(case_create_with_attrs, NULL);
    T_RUN(case_bad_attribute_names, NULL);
    T_RUN(case_named_namespace, NULL);
    T_RUN(case_generic_failures, NULL);
    T_RUN(case_token_attach, NULL);
    return t_finish_with_manager(&M);
}
