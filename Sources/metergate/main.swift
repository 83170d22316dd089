print("metergate")
