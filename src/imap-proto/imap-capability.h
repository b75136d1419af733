#ifndef RAVELIN_IMAP_CAPABILITY_H
#define RAVELIN_IMAP_CAPABILITY_H
/*
 * imap-capability: what the server announces, before login (front) and
 * after it (worker).  One place, so the CAPABILITY response code in the
 * tagged OK of a login (sent by front) matches what the worker implements.
 *
 * Shared (src/imap-proto): pure, linked into the pre-auth process and the worker.
 */

/* Before login, with TLS active (or on the implicit-TLS port). */
#define IMAP_CAPABILITY_PREAUTH_TLS \
	"IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN"
/* Before login, in clear text: STARTTLS offered, credentials refused. */
#define IMAP_CAPABILITY_PREAUTH_PLAIN \
	"IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS LOGINDISABLED"
/* After login. */
#define IMAP_CAPABILITY_AUTH \
	"IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS UNSELECT " \
	"CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE MOVE CONDSTORE QRESYNC ESEARCH " \
	"SEARCHRES SORT THREAD=REFERENCES THREAD=ORDEREDSUBJECT QUOTA QUOTA=RES-STORAGE " \
	"STATUS=SIZE UTF8=ACCEPT MULTIAPPEND BINARY CATENATE COMPRESS=DEFLATE " \
	"ESORT SORT=DISPLAY CONTEXT=SEARCH CONTEXT=SORT PARTIAL"

#endif
