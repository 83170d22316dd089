import CCurl

// The Swift layer over libcurl: easy handles, structured errors, perform off the cooperative pool.
// (Filled in by the e-mail channel work.)
