package live

// BufferedEventOverhead is what a buffered event costs beyond its customer and value.
const BufferedEventOverhead = bufferedEventOverhead
