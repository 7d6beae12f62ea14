"""Direct messages relayed through the bot: conversations, consent, delivery, encryption."""
