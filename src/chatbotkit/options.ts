// Where the ChatBotKit API lives when a client is given no `baseUrl`.
export const DEFAULT_BASE_URL = 'https://api.chatbotkit.com';
