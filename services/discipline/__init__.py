"""Confidential content of discipline referrals (process 3): encrypted store, need-to-know rule,
content API and the ``lawlink.in`` consumer that fills the store without crossing ``lawlink.out``."""
