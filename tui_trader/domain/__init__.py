"""Pure domain: enums, value objects, validation rules, clock and market calendar. No I/O."""
