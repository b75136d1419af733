/* imap-fetch: to be written */
