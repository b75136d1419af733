/*
 * mime-dump: prints what the MIME parser computes for one message file
 * (ENVELOPE, BODY, BODYSTRUCTURE and the parts with their offsets), for
 * comparing with another IMAP server in tests and for looking at a message
 * that misbehaves.  Not installed; built beside the unit tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "imap-format/imap-message.h"
#include "mail/mime.h"

int main(int argc, char **argv)
{
	char chunk[65536];
	const char *error;
	const struct mime_message *msg;
	struct mime_limits limits;

	if (argc != 2) {
		fprintf(stderr, "usage: mime-dump FILE\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "mime-dump: open(%s) failed: %s\n", argv[1], strerror(errno));
		return 1;
	}
	mime_limits_default(&limits);
	struct mime_parser *p = mime_parser_new(&limits);
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (mime_parser_feed(p, chunk, (size_t)n, &error) < 0)
			goto fail;
	close(fd);
	if (mime_parser_finish(p, &msg, &error) < 0)
		goto fail;
	struct imap_message_answers answers;
	if (imap_message_answers_write(msg, &answers) < 0) {
		imap_message_answers_free(&answers);
		error = "the IMAP answers are too long";
		goto fail;
	}
	printf("ENVELOPE %.*s\n", (int)answers.envelope.len, answers.envelope.data);
	printf("BODY %.*s\n", (int)answers.body.len, answers.body.data);
	printf("BODYSTRUCTURE %.*s\n", (int)answers.bodystructure.len, answers.bodystructure.data);
	imap_message_answers_free(&answers);
	for (size_t i = 0; i < msg->part_count; i++) {
		const struct mime_part *part = &msg->parts[i];
		printf("PART %.*s%s header %llu+%llu body %llu+%llu lines %llu %.*s\n",
		       (int)part->section.len, part->section.ptr,
		       part->is_embedded_message ? " (message)" : "",
		       (unsigned long long)part->header_offset,
		       (unsigned long long)part->header_size,
		       (unsigned long long)part->body_offset, (unsigned long long)part->body_size,
		       (unsigned long long)part->body_lines, (int)part->content_type.len,
		       part->content_type.ptr);
	}
	mime_parser_free(&p);
	return 0;
fail:
	fprintf(stderr, "mime-dump: %s\n", error);
	mime_parser_free(&p);
	return 1;
}
