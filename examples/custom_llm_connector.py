from orkes.shared.schema import OrkesMessageSchema

class EchoLlmConnector:
    def __init__(self, api_key: str):
        self.api_key = api_key
        # In a real connector, you would initialize an API client here

    def invoke(self, messages: list[OrkesMessageSchema]) -> OrkesMessageSchema:
        # This is the main method that Orkes will call.
        # It takes a list of messages and should return a single message.
        
        # In a real connector, you would make an API call here.
        # For our EchoLLM, we'll just simulate the response.
        last_user_message = next(
            (msg for msg in reversed(messages) if msg['role'] == 'user'), 
            None
        )

        response_content = "I echo: " + last_user_message['content'] if last_user_message else "I have nothing to echo."

        return OrkesMessageSchema(
            role="assistant",
            content=response_content
        )

from typing import TypedDict
from orkes.graph.core import OrkesGraph
# ... (EchoLlmConnector class from above)

class ChatState(TypedDict):
    user_input: str
    llm_response: str

graph = OrkesGraph(ChatState)

def llm_node(state: ChatState) -> ChatState:
    # 1. Instantiate the connector
    connector = EchoLlmConnector(api_key="dummy_key")

    # 2. Create the message to send to the LLM
    message = OrkesMessageSchema(role="user", content=state['user_input'])

    # 3. Invoke the connector and get the response
    response = connector.invoke([message])

    # 4. Update the state
    state['llm_response'] = response['content']
    return state

graph.add_node('llm', llm_node)

# ... (graph and llm_node definition)
from orkes.graph.runner import GraphRunner

graph.add_edge(graph.START, 'llm')
graph.add_edge('llm', graph.END)

compiled_graph = graph.compile()
runner = GraphRunner(compiled_graph)

initial_state = ChatState(user_input="Hello, Orkes!", llm_response="")
final_state = runner.run(initial_state)

print(final_state)
# Expected output: {'user_input': 'Hello, Orkes!', 'llm_response': 'I echo: Hello, Orkes!'}
