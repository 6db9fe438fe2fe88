"""Passwords attackers try first: the most common ones in public breach lists, keyboard
walks, digit runs, and words a trader in India is likely to build one from.

`is_common` also catches one of these with digits or symbols added at either end
("Password2024!", "123qwerty"), and a password of one or two characters repeated. Kept small on
purpose: the aim is the guesses a lockout of five attempts would otherwise let through.
"""

from __future__ import annotations

import re

COMMON_PASSWORDS = frozenset("""
00000000 0123456789 11111111 11223344 12121212 123123123 123321 12341234 1234554321
12345678 123456789 1234567890 1234qwer 13579 147258369 159357 1q2w3e4r 1q2w3e4r5t
1qaz2wsx 22222222 24682468 69696969 741852963 77777777 87654321 88888888 98765432
987654321 99999999 abc123 abcd1234 abcdef abcdefg abcdefgh access admin administrator
amanda andrew android angelone apple asdf asdfgh asdfghjk asdfghjkl ashley autumn azerty
bailey bangalore banknifty baseball basketball batman bear blink182 buster changeit
changeme charlie cheese chennai chocolate computer contrasena cookie corvette cricket
daniel default delhi demo dhoni dollar dragon eagle falcon ferrari flower football
freedom ganesh ginger golfer goodluck google guest hannah hanuman happy hello hello123
hellohello hockey hunter hyderabad iloveu iloveyou india internet iphone jaishriram
jennifer jessica jordan joshua killer kite kiteconnect kohli kolkata krishna letmein
linux lion login love lovely loveme lover loveyou maggie manager market master masterkey
matthew mercedes michael michelle money monkey motdepasse mumbai mustang nicole nifty
nifty50 nothing olivia omsairam oracle p@ssw0rd p@ssword pass pass1234 passw0rd password
password1 password12 password123 passwort pepper pokemon porsche princess pune q1w2e3r4
q1w2e3r4t5 qazwsx qazwsxedc qwe123 qweasd qweasdzxc qwer1234 qwerty qwerty123 qwertyui
qwertyuiop qwertz ranger robert root rupee sachin samsung secret sensex server shadow
shiva smile soccer something sophie spiderman spring starwars stock stocks summer
sunshine superman superuser sysadmin system temp temp1234 tennis test tester testing
thomas tiger toor trader trading trustno1 trustnoone tui-trader tui_trader tuitrader
upstox user virat welcome whatever windows winter zaq1 zaq12wsx zerodha zxcvbn zxcvbnm
""".split())

_TRAILING = re.compile(r"[\d\W_]+$")
_LEADING = re.compile(r"^[\d\W_]+")


def is_common(password: str) -> bool:
    """Whether `password` is (or is built from) one of the commonest passwords."""
    lower = password.lower()
    root = _LEADING.sub("", _TRAILING.sub("", lower))
    return (lower in COMMON_PASSWORDS or root in COMMON_PASSWORDS
            or len(set(lower)) <= 2)
