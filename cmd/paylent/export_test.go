package main

// Run is the command line as the end-to-end tests run it in their own process: the same
// function main calls, without a process start per command.
var Run = run
