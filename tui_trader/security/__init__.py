"""Security: everything that touches a password or a broker credential.

- `passwords`  argon2id hashing of user passwords (OWASP parameters), timing equalisation.
- `secret`     `Secret`, the in-memory wrapper that never prints its value.
- `keystore`   master keys (OS keyring, a 0600 file, or memory) behind the `KeyStore` protocol.
- `vault`      `CredentialVault`: AES-256-GCM sealing of broker credentials, bound to their row.
- `rotation`   `rotate_all`: move every stored credential onto a new master key.
- `redaction`  a logging filter that scrubs registered secret values from log records.
- `session_tokens`  login session tokens and the hash kept of them (also the command key).
- `files`      private (0700/0600) directories and files for the data dir.

This package sits just above `domain` and imports nothing from db, live, services or ui; the
callers that store ciphertexts (broker_accounts) pass plain values in and out.
"""
