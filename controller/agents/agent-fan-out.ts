// How many agents the controller asks at once when it asks a whole group (the preflight, group
// status): every call has its own deadline, which thousands of calls queued on one event loop and
// its connections would spend waiting (at 10,000 hosts the preflight then failed every host).
export const AGENT_FAN_OUT = 256;
