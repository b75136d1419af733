/* imap-search-run: to be written */
