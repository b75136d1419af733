/* http-response: status lines and response heads (see http-response.h). */
#include "http-response.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/date.h"

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 100, "Continue" },
	{ 200, "OK" },
	{ 201, "Created" },
	{ 204, "No Content" },
	{ 207, "Multi-Status" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 304, "Not Modified" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 411, "Length Required" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 417, "Expectation Failed" },
	{ 422, "Unprocessable Content" },
	{ 424, "Failed Dependency" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 505, "HTTP Version Not Supported" },
	{ 507, "Insufficient Storage" },
};

const char *http_reason(int status)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

void http_date(int64_t t, char out[HTTP_DATE_SIZE])
{
	/* Years 1970 to 9999 keep the year at four digits. */
	const int64_t max = date_time(9999, 12, 31, 23, 59, 59);
	t = t < 0 ? 0 : t > max ? max : t;
	/* RFC 5322's form ("Thu, 1 Jan 1970 00:00:00 +0000") differs only in
	 * the day's width and the zone's name. */
	char mail[40];
	date_rfc5322(t, mail, sizeof(mail));
	size_t len = strlen(mail);
	const char *day = mail + 5;
	bool one_digit = day[1] == ' ';
	snprintf(out, HTTP_DATE_SIZE, "%.5s%s%.*s GMT", mail, one_digit ? "0" : "",
		 (int)(len - 5 - 6), day);
}

/* Statuses whose response carries no content and no Content-Length
 * (RFC 9110 8.6: 1xx and 204 must not; 304 describes another response). */
static bool no_content(int status)
{
	return status < 200 || status == 204 || status == 304;
}

int http_response_write(struct buf *out, int status, struct str content_type,
			struct str extra_headers, struct str body, bool head_only, bool keep_alive)
{
	size_t start = out->len;
	int ret;
	if (status < 200) {
		ret = buf_printf(out, "HTTP/1.1 %d %s\r\n\r\n", status, http_reason(status));
		if (ret < 0)
			out->len = start;
		return ret < 0 ? -1 : 0;
	}
	char date[HTTP_DATE_SIZE];
	http_date((int64_t)time(NULL), date);
	ret = buf_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: Ravelin\r\n", status,
			 http_reason(status), date);
	if (ret >= 0 && !no_content(status))
		ret = buf_printf(out, "Content-Length: %zu\r\n", body.len);
	if (ret >= 0 && content_type.len > 0)
		ret = buf_printf(out, "Content-Type: %.*s\r\n", (int)content_type.len,
				 content_type.ptr);
	if (ret >= 0)
		ret = buf_append_str(out, extra_headers);
	if (ret >= 0 && !keep_alive)
		ret = buf_append_str(out, STR("Connection: close\r\n"));
	if (ret >= 0)
		ret = buf_append_str(out, STR("\r\n"));
	if (ret >= 0 && !head_only && !no_content(status))
		ret = buf_append_str(out, body);
	if (ret < 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}
