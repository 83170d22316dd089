import MeterCore
// Gammu SMSD SQL, Kannel and SMSC-style providers (issue 4).
