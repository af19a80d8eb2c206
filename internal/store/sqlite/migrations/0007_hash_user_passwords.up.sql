-- Releases before this one kept the User attribute "password" in
-- resources.attrs as the client sent it. The hashing needs argon2id, so
-- this migration is carried out in Go (hashUserPasswords in passwords.go),
-- in this migration's transaction, right after this statement: every
-- password then stored is replaced by its salted hash, and the new rows
-- and updates of this release store only hashes.
SELECT 1;
