#ifndef RAVELIN_CHARSET_H
#define RAVELIN_CHARSET_H
/*
 * charset: conversion of header text in a named charset to UTF-8 (for RFC
 * 2047 encoded words and RFC 2231 parameter values), over ICU.
 */
#include "lib/buf.h"
#include "lib/str.h"

/*
 * charset_to_utf8 appends bytes, converted from charset to UTF-8, to out.
 * Invalid sequences become U+FFFD.  An unknown charset (or one with an
 * absurdly long name) keeps the raw bytes, so nothing is lost.  A language
 * suffix ("utf-8*en", RFC 2231 section 5) is ignored.  Returns 0, or -1
 * when out cannot take the result (its maximum or no memory).
 */
int charset_to_utf8(struct buf *out, struct str charset, struct str bytes);

#endif
