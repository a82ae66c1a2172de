"""Clinicians on screen: who is charting, switching (Ctrl+U), adding and deactivating them,
signing and co-signing ended sessions (issue 14). The decisions are the core's
(kapsession.storage.clinicians, kapsession.exports.signing); these are thin views."""
