/** This provider's name, as channels.provider stores it (the registry collects every provider's). */
export const name = 'cloud'
