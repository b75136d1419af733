/* mail-decode: to be written */
