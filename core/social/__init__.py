"""People and how they relate: handles naming a person, profiles, follows, blocks, reports,
discovery and the verified mark. Rules only; the commands layer words the replies."""
