package hub

func init() { strictStates = true } // a bad socket-state transition panics in every test of the package
