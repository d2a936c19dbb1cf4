"""Read model of township power delegations (DOMAIN.md process 4): which items each township
carries, in what state, and when each is next reviewed."""
