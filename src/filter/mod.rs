//! The ss filter language plus process, user, service, port and scope predicates: lexer,
//! parser (errors carry a byte span) and evaluator over joined rows. Pure.
