/* imap-sort: to be written */
