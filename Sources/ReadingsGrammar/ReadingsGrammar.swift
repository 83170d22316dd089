// ReadingsGrammar
