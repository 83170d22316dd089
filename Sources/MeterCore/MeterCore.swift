// MeterCore
