/*
 * fuzz-http-chunked: the request reader on chunked bodies.  Every input
 * follows a fixed chunked request head, so the fuzzer spends its time in
 * chunk sizes, extensions, data and trailers; the checks are those of
 * fuzz-http-request (the same requests whole and in pieces), whose code
 * this file reuses.
 */
#define FUZZ_HTTP_PREFIX "PUT /dav/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
#include "fuzz-http-request.c"
