
      export type PossibleTypesResultData = {
  "possibleTypes": {
    "CreateConversationSessionResult": [
      "ConversationNotFoundError",
      "ConversationSession",
      "InvalidInputError",
      "NotAuthorizedError",
      "RateLimitedError"
    ],
    "Error": [
      "ConversationNotFoundError",
      "InvalidInputError",
      "NotAuthorizedError",
      "RateLimitedError"
    ]
  }
};
      const result: PossibleTypesResultData = {
  "possibleTypes": {
    "CreateConversationSessionResult": [
      "ConversationNotFoundError",
      "ConversationSession",
      "InvalidInputError",
      "NotAuthorizedError",
      "RateLimitedError"
    ],
    "Error": [
      "ConversationNotFoundError",
      "InvalidInputError",
      "NotAuthorizedError",
      "RateLimitedError"
    ]
  }
};
      export default result;
    